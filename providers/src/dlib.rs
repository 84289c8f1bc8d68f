//! The translator libraries, FreeBSD's /usr/lib/dtrace in our own words, compiled before every
//! user program on a guest with a FreeBSD 10 profile (ip.d first: tcp.d and udp.d use it).

use lang::Source;

/// (file name, text) of each library, in dependency order.
pub const LIBRARIES: [(&str, &str); 3] = [
    ("ip.d", include_str!("../dlib/ip.d")),
    ("tcp.d", include_str!("../dlib/tcp.d")),
    ("udp.d", include_str!("../dlib/udp.d")),
];

/// The libraries as lang sources, after the release prelude.
pub fn sources(prelude: String) -> Vec<Source> {
    let mut v = vec![Source::library("<guestrace prelude>", prelude)];
    v.extend(
        LIBRARIES
            .iter()
            .map(|(n, t)| Source::library(format!("/usr/lib/dtrace/{n}"), *t)),
    );
    v
}
