//! Proxies from the environment, as curl and other tools take them. Its own test
//! binary: it changes environment variables, which are process-wide.

mod common;

use common::*;

#[test]
fn http_proxy_and_no_proxy_are_honoured() {
    let target = emulator();
    let proxy = emulator();
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        std::env::remove_var(var);
    }

    // Through the proxy: it receives the request (in absolute form) and answers.
    std::env::set_var("HTTP_PROXY", proxy.base_url());
    let c = client(&target);
    c.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap();
    assert_eq!(proxy.stats().requests, 1);
    assert_eq!(target.stats().requests, 0);

    // NO_PROXY names the host: straight to it.
    std::env::set_var("NO_PROXY", "127.0.0.1");
    let c = client(&target);
    c.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap();
    assert_eq!(proxy.stats().requests, 1);
    assert_eq!(target.stats().requests, 1);

    std::env::remove_var("HTTP_PROXY");
    std::env::remove_var("NO_PROXY");
}
