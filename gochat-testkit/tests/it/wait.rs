use std::time::{Duration, Instant};

use gochat_testkit::wait::{wait_for_exit, wait_for_port, wait_until, wait_until_blocking};

#[tokio::test]
async fn waits_end_when_the_state_is_reached_or_give_up() {
    let start = Instant::now();
    let mut n = 0;
    wait_until("the third check", Duration::from_secs(5), async || {
        n += 1;
        n == 3
    })
    .await
    .expect("reached");
    assert_eq!(n, 3);
    assert!(start.elapsed() < Duration::from_secs(1));

    let err = wait_until("never", Duration::from_millis(50), async || false)
        .await
        .expect_err("gives up");
    assert!(err.to_string().contains("never"), "{err}");
    assert!(wait_until_blocking("never", Duration::from_millis(20), || false).is_err());
}

#[tokio::test]
async fn a_port_accepts_once_bound() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    wait_for_port(addr, Duration::from_secs(5))
        .await
        .expect("accepts");
    drop(listener);
    assert!(
        wait_for_port(addr, Duration::from_millis(50))
            .await
            .is_err()
    );
}

#[test]
fn a_process_exit_is_seen() {
    let mut child = std::process::Command::new("sh")
        .args(["-c", "exit 7"])
        .spawn()
        .expect("sh");
    let status = wait_for_exit(&mut child, Duration::from_secs(10)).expect("exits");
    assert_eq!(status.code(), Some(7));
    let mut sleeper = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("sleep");
    assert!(wait_for_exit(&mut sleeper, Duration::from_millis(50)).is_err());
    sleeper.kill().expect("kill");
    wait_for_exit(&mut sleeper, Duration::from_secs(10)).expect("killed");
}
