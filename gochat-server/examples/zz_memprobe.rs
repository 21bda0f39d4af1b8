//! Temporary probe: heap bytes per idle connection, sizes of per-connection futures.
#![allow(unsafe_code, missing_docs, clippy::unwrap_used)]
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Read;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);
static COUNT: AtomicIsize = AtomicIsize::new(0);
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        COUNT.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        COUNT.fetch_sub(1, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}
#[global_allocator]
static A: Counting = Counting;

#[tokio::main(worker_threads = 2)]
async fn main() {
    let mut config = gochat_server::config::Config::default();
    config.listen = Some("127.0.0.1:0".parse().unwrap());
    config.database = Some("sqlite::memory:".into());
    config.log = "warn".into();
    let server = gochat_server::server::Server::start(config).await.unwrap();
    let addr = server.plain_addr.unwrap();
    let shared = server.shared().clone();
    tokio::spawn(server.run());
    // future sizes
    {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = l.local_addr().unwrap();
        let c = tokio::net::TcpStream::connect(a).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        let (read, write) = gochat_server::conn::Transport::Plain(s).split();
        let (conn, _w) = gochat_server::conn::spawn_writer(write, a.ip(), false, 1024, Duration::from_secs(30));
        let fut = gochat_server::session::Session::new(shared.clone(), conn).run(read);
        println!("Session::run future: {} bytes", std::mem::size_of_val(&fut));
        println!("Outbound: {} bytes", std::mem::size_of::<gochat_server::conn::Outbound>());
        drop(fut);
        drop(c);
    }
    for n in [1000usize, 5000] {
        let before = (LIVE.load(Ordering::SeqCst), COUNT.load(Ordering::SeqCst));
        let streams = tokio::task::spawn_blocking(move || {
            let mut v = Vec::with_capacity(n);
            let b = LIVE.load(Ordering::SeqCst);
            for _ in 0..n {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                let mut buf = [0u8; 12];
                s.read_exact(&mut buf).unwrap();
                v.push(s);
            }
            (v, b)
        })
        .await
        .unwrap();
        let (streams, b2) = streams;
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let after = (LIVE.load(Ordering::SeqCst), COUNT.load(Ordering::SeqCst));
        println!(
            "{n} idle conns: {} heap bytes/conn ({} allocations/conn) [excl. vec: {}]",
            (after.0 - before.0) / n as isize,
            (after.1 - before.1) / n as isize,
            (after.0 - b2) / n as isize
        );
        drop(streams);
        tokio::time::sleep(Duration::from_millis(1000)).await;
        println!("after close: {} heap bytes/conn remain", (LIVE.load(Ordering::SeqCst) - before.0) / n as isize);
    }
}
