//! The sandbox tenant: an in-process, stateful simulation of the Microsoft 365 endpoints
//! photo-sync uses (token, Graph, SharePoint, HR), served over real HTTP on loopback.
//! Being built; see the issue "Microsoft 365 connectivity".
