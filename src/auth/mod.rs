//! Access tokens for Graph and SharePoint.
