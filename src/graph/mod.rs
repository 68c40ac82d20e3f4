//! The Microsoft Graph client.
