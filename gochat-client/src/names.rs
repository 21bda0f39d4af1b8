//! Display names of the daemon's enumerations, the same in every frontend.

/// A permission level's name: `user`, `admin`, `owner`, else `unknown`.
pub fn permission_name(level: u32) -> &'static str {
    match level {
        0 => "user",
        1 => "admin",
        2 => "owner",
        _ => "unknown",
    }
}
