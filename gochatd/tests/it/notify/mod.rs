//! Issue 15: desktop notifications (a private session bus and a fake notification server),
//! hooks, and contact preferences, against a real server and real daemons.

mod bus;
mod desktop;
mod hooks;
mod limits;
mod support;
