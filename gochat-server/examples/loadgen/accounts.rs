//! `reg` and `users`: concurrent registrations, and `USRS ALL` under load.

use super::*;

// ---------------------------------------------------------------------------------------------
// reg

pub(crate) async fn reg(ctx: &Ctx, concurrent: usize, rounds: usize, conflict: bool) -> Result<()> {
    let concurrent = concurrent.max(1);
    let keys = load_keys(&ctx.key_cache, concurrent * rounds)?;
    wait_for_server(ctx.addr).await?;
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut lat = Lat::default();
    for round in 0..rounds {
        let mut clients = Vec::new();
        for _ in 0..concurrent {
            clients.push(Client::connect(ctx.addr).await?);
        }
        let barrier = Arc::new(tokio::sync::Barrier::new(concurrent));
        let tasks: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(i, mut c)| {
                let k = round * concurrent + i;
                let key = keys[k].clone();
                let barrier = barrier.clone();
                let name = if conflict {
                    Bytes::from(format!("same{round}"))
                } else {
                    user_name(k)
                };
                tokio::spawn(async move {
                    barrier.wait().await;
                    let start = Instant::now();
                    let r = c.try_register(&name, &key).await;
                    (r, start.elapsed())
                })
            })
            .collect();
        for t in tasks {
            let outcome = match t.await {
                Ok((Ok(None), d)) => {
                    lat.push(d);
                    "OK".to_owned()
                }
                Ok((Ok(Some(code)), d)) => {
                    lat.push(d);
                    code
                }
                Ok((Err(e), _)) => format!("failure: {}", why(&e)),
                Err(e) => format!("task: {e}"),
            };
            *outcomes.entry(outcome).or_insert(0) += 1;
        }
    }
    let ok = outcomes.get("OK").copied().unwrap_or(0);
    let exists = outcomes.get("ERR_EXISTS").copied().unwrap_or(0);
    let total = concurrent * rounds;
    // With --conflict the correct outcome is one OK per round and ERR_EXISTS for the rest.
    let errors = if conflict {
        (total - ok - exists) + ok.abs_diff(rounds)
    } else {
        total - ok
    };
    let mode = if conflict {
        " (one name per round)"
    } else {
        ""
    };
    println!(
        "reg: {rounds} round(s) of {concurrent} concurrent REGs{mode}: {}",
        describe_map(&outcomes)
    );
    println!("REG→reply latency: {}", lat.summary());
    println!("RESULT reg total={total} ok={ok} exists={exists} errors={errors}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// users

/// One `USRS ALL`: its latency and how it was answered (`USRS` or the ERR's name).
pub(crate) async fn usrs_all(c: &mut Client) -> Result<(Duration, String)> {
    let start = Instant::now();
    let reply = c
        .call(&Request::Users(gochat_proto::wire::UserList::All))
        .await?;
    let answer = match reply.action {
        Action::Usrs => "USRS".to_owned(),
        Action::Err => err_name(&reply),
        other => format!("unexpected {other}"),
    };
    Ok((start.elapsed(), answer))
}

pub(crate) async fn users(ctx: &Ctx, calls: usize, loopers: usize) -> Result<()> {
    let keys = load_keys(&ctx.key_cache, loopers + 1)?;
    wait_for_server(ctx.addr).await?;
    let mut clients = logged_in_clients(ctx, &keys, 0, loopers + 1, true).await?;
    let mut probe = clients.remove(0);

    let answers = Errors::default();
    let mut lat = Lat::default();
    let before = ctx.meter.snapshot();
    for _ in 0..calls {
        let (d, answer) = usrs_all(&mut probe).await?;
        lat.push(d);
        answers.add(answer);
    }
    let phase = ctx.meter.since(&before);
    phase.print("USRS ALL, one client");
    println!("answers: {}", answers.describe());
    println!("USRS ALL latency: {}", lat.summary());
    if let Some(per) = phase.per_op(calls) {
        println!("server CPU per USRS ALL: {per:.3} ms");
    }

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let looped = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            let stop = stop.clone();
            let looped = looped.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if usrs_all(&mut c).await.is_err() {
                        break;
                    }
                    looped.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut req_lat = Lat::default();
    let before = ctx.meter.snapshot();
    for _ in 0..calls {
        let start = Instant::now();
        probe
            .call(&Request::Req {
                username: user_name(0),
            })
            .await?;
        req_lat.push(start.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let phase = ctx.meter.since(&before);
    let n = looped.load(Ordering::Relaxed);
    phase.print("REQ while others loop USRS ALL");
    println!(
        "{loopers} loopers made {n} USRS ALL calls ({:.0}/s)",
        n as f64 / phase.wall.as_secs_f64()
    );
    println!("REQ latency under load: {}", req_lat.summary());
    println!(
        "RESULT users usrs_p50_ms={:.2} usrs_p99_ms={:.2} req_p50_ms={:.2} req_p99_ms={:.2}",
        lat.pct(50.0),
        lat.pct(99.0),
        req_lat.pct(50.0),
        req_lat.pct(99.0)
    );
    Ok(())
}
