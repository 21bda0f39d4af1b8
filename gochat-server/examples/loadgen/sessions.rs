//! `idle` and `login`: connections and logins.

use super::*;

// ---------------------------------------------------------------------------------------------
// idle

pub(crate) async fn idle(
    ctx: &Ctx,
    conns: usize,
    concurrency: usize,
    sources: u8,
    settle_secs: u64,
    hello_timeout: Duration,
) -> Result<()> {
    let sources = sources.max(1);
    println!(
        "idle: {conns} connections, {concurrency} connects in flight, sources 127.0.0.1..127.0.0.{sources}, loadgen RLIMIT_NOFILE {:?}",
        nofile_limit()
    );
    wait_for_server(ctx.addr).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = ctx.meter.snapshot();
    let errors = Errors::default();
    let results: Vec<Option<(TcpStream, Duration)>> = futures::stream::iter(0..conns)
        .map(|i| {
            let errors = errors.clone();
            let src = Ipv4Addr::new(127, 0, 0, 1 + (i % usize::from(sources)) as u8);
            async move {
                let start = Instant::now();
                match tokio::time::timeout(hello_timeout, Client::connect_from(ctx.addr, Some(src)))
                    .await
                {
                    Ok(Ok(c)) => Some((c.stream, start.elapsed())),
                    Ok(Err(e)) => {
                        errors.add(why(&e));
                        None
                    }
                    Err(_) => {
                        errors.add(format!("no HELLO within {} s", hello_timeout.as_secs()));
                        None
                    }
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let open_phase = ctx.meter.since(&before);
    let mut lat = Lat::default();
    let mut streams = Vec::with_capacity(conns);
    for (s, d) in results.into_iter().flatten() {
        lat.push(d);
        streams.push(s);
    }
    let ok = streams.len();
    open_phase.print("open");
    println!(
        "connects: {ok} ok, errors: {} ({:.0} connects/s)",
        errors.describe(),
        ok as f64 / open_phase.wall.as_secs_f64()
    );
    println!("connect→HELLO: {}", lat.summary());
    tokio::time::sleep(Duration::from_secs(settle_secs)).await;
    let held = ctx.meter.since(&before);
    // Check that the connections are still open (the server did not drop them).
    let mut alive = 0;
    let mut probe = [0u8; 1];
    for s in &streams {
        match s.try_read(&mut probe) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => alive += 1,
            _ => {}
        }
    }
    println!("still open after {settle_secs} s: {alive}/{ok}");
    let mut per_conn = f64::NAN;
    if let (Some(a), Some(b)) = (held.server_rss_before, held.server_rss_after) {
        per_conn = (b as f64 - a as f64) * 1024.0 / ok.max(1) as f64;
        println!(
            "server RSS: {a} KiB before, {b} KiB with {ok} idle connections → {per_conn:.0} bytes ({:.2} KiB) per connection",
            per_conn / 1024.0
        );
    }
    println!(
        "RESULT idle conns={ok} failed={} bytes_per_conn={per_conn:.0} hello_p50_ms={:.2} hello_p99_ms={:.2} open_s={:.3}",
        errors.total(),
        lat.pct(50.0),
        lat.pct(99.0),
        open_phase.wall.as_secs_f64()
    );
    // Close with RST (zero linger): no TIME_WAIT left behind to slow down the next run's
    // binds on the same source addresses.
    for s in &streams {
        let _ = s.set_zero_linger();
    }
    drop(streams);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let closed = ctx.meter.since(&before);
    if let Some(b) = closed.server_rss_after {
        println!("server RSS 2 s after closing them all: {b} KiB");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// login

pub(crate) async fn login(
    ctx: &Ctx,
    users: usize,
    rounds: usize,
    concurrency: usize,
) -> Result<()> {
    let keys = load_keys(&ctx.key_cache, users)?;
    wait_for_server(ctx.addr).await?;
    let setup = ctx.meter.snapshot();
    let clients = logged_in_clients(ctx, &keys, 0, users, false).await?;
    ctx.meter.since(&setup).print("connect + REG");
    println!(
        "login: {users} users × {rounds} rounds of LOGIN, VERIF, LOGOUT; {concurrency} users at once"
    );
    let errors = Errors::default();
    let before = ctx.meter.snapshot();
    let lats: Vec<Lat> = futures::stream::iter(clients.into_iter().enumerate())
        .map(|(i, mut c)| {
            let errors = errors.clone();
            let key = keys[i].clone();
            async move {
                let name = user_name(i);
                let mut total = Lat::default();
                for _ in 0..rounds {
                    let start = Instant::now();
                    if let Err(e) = c.login_offloaded(&name, &key).await {
                        errors.add(why(&e));
                        break;
                    }
                    total.push(start.elapsed());
                    if let Err(e) = c.logout().await {
                        errors.add(why(&e));
                        break;
                    }
                }
                total
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let phase = ctx.meter.since(&before);
    let mut lat = Lat::default();
    for l in lats {
        lat.extend(l);
    }
    let n = lat.0.len();
    phase.print("logins");
    println!("logins: {n} ok, errors: {}", errors.describe());
    println!(
        "LOGIN→OK (incl. client-side RSA decryption): {}",
        lat.summary()
    );
    println!("logins/s: {:.0}", n as f64 / phase.wall.as_secs_f64());
    if let Some(per) = phase.per_op(n) {
        println!("server CPU per login (LOGIN + VERIF + LOGOUT): {per:.3} ms");
    }
    if let Some(db) = phase.db_cpu_ms {
        println!("database CPU per login: {:.3} ms", db / n.max(1) as f64);
    }
    println!(
        "RESULT login logins={n} errors={} cpu_per_login_ms={:.3} p50_ms={:.2} p99_ms={:.2}",
        errors.total(),
        phase.per_op(n).unwrap_or(f64::NAN),
        lat.pct(50.0),
        lat.pct(99.0)
    );
    Ok(())
}
