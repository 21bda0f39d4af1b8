//! `online` and `offline`: live messages between pairs, and stored messages and catch-up.

use super::*;

// ---------------------------------------------------------------------------------------------
// online

pub(crate) async fn online(
    ctx: &Ctx,
    pairs: usize,
    window: usize,
    messages: usize,
    size: usize,
) -> Result<()> {
    let pairs = pairs.max(1);
    let keys = load_keys(&ctx.key_cache, 2 * pairs)?;
    wait_for_server(ctx.addr).await?;
    let senders = logged_in_clients(ctx, &keys, 0, pairs, true).await?;
    let cross = ctx.receiver_addr != ctx.addr;
    if cross {
        wait_for_server(ctx.receiver_addr).await?;
    }
    let receivers = logged_in_clients_at(ctx.receiver_addr, &keys, pairs, pairs, true).await?;
    if cross {
        // The sender's node learns where the receivers are through NATS.
        tokio::time::sleep(Duration::from_secs(1)).await;
        println!(
            "receivers on {}, senders on {}",
            ctx.receiver_addr, ctx.addr
        );
    }
    let per = (messages / pairs).max(1);
    let total = per * pairs;
    println!(
        "online: {pairs} pairs, window {window}, {per} messages per sender ({total} in all), {size}-byte ciphertexts"
    );
    let template = Arc::new(body_template(size));
    let (done, done_rx) = tokio::sync::watch::channel(false);
    let receiver_tasks: Vec<_> = receivers
        .into_iter()
        .map(|c| tokio::spawn(run_live_receiver(c, per, done_rx.clone())))
        .collect();
    let before = ctx.meter.snapshot();
    let receiver_before = ctx.receiver_meter.as_ref().map(Meter::snapshot);
    let start = Instant::now();
    let sender_tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            tokio::spawn(run_sender(
                c,
                i,
                vec![user_name(pairs + i)],
                per,
                window,
                template.clone(),
            ))
        })
        .collect();
    let mut sender_reports = Vec::new();
    for t in sender_tasks {
        sender_reports.push(t.await.unwrap_or_else(|e| SenderReport {
            failure: Some(format!("sender task: {e}")),
            ..SenderReport::default()
        }));
    }
    let phase = ctx.meter.since(&before);
    let _ = done.send(true);
    let receiver_phase = ctx
        .receiver_meter
        .as_ref()
        .zip(receiver_before.as_ref())
        .map(|(m, b)| m.since(b));
    let mut receiver_reports = Vec::new();
    for t in receiver_tasks {
        receiver_reports.push(t.await.unwrap_or_else(|e| ReceiverReport {
            failure: Some(format!("receiver task: {e}")),
            ..ReceiverReport::default()
        }));
    }
    phase.print("messaging");
    if let Some(p) = &receiver_phase {
        p.print("messaging (receivers' node)");
    }

    let mut ok = 0;
    let mut errors = BTreeMap::new();
    let mut msg_to_ok = Lat::default();
    let mut last_ok = start;
    let mut failures = Vec::new();
    for (i, r) in sender_reports.iter_mut().enumerate() {
        ok += r.ok;
        merge_errors(&mut errors, &r.errors);
        msg_to_ok.extend(std::mem::take(&mut r.msg_to_ok));
        if let Some(t) = r.last_ok {
            last_ok = last_ok.max(t);
        }
        if let Some(f) = &r.failure {
            failures.push(format!("sender {i}: {f}"));
        }
    }
    let mut received = 0;
    let mut reciv = Lat::default();
    let mut check = Check::default();
    let mut malformed = 0;
    for (i, r) in receiver_reports.iter_mut().enumerate() {
        received += r.received;
        malformed += r.malformed;
        reciv.extend(std::mem::take(&mut r.lat));
        let confirmed = sender_reports[i]
            .ok_seqs
            .get(&0)
            .cloned()
            .unwrap_or_default();
        let got = r.seqs.get(&(i as u64)).cloned().unwrap_or_default();
        check.add(&confirmed, &got);
        if r.seqs.keys().any(|&s| s != i as u64) {
            check.unexpected += 1;
        }
        if let Some(f) = &r.failure {
            failures.push(format!("receiver {i}: {f}"));
        }
    }
    let secs = (last_ok - start).as_secs_f64();
    let rate = ok as f64 / secs;
    println!(
        "MSG→OK: {ok} OK in {secs:.3} s = {rate:.0} msgs/s; ERR replies: {}",
        describe_map(&errors)
    );
    println!("MSG→OK latency: {}", msg_to_ok.summary());
    println!("MSG→RECIV latency (live): {}", reciv.summary());
    println!(
        "received live: {received}/{ok} (not live = stored for catch-up: {}); order/exactly-once: {} {check:?}; malformed bodies: {malformed}",
        ok.saturating_sub(received),
        if check.ok() { "ok" } else { "VIOLATED" }
    );
    for f in &failures {
        println!("failure: {f}");
    }
    if let Some(per_op) = phase.per_op(ok) {
        println!("server CPU per 1,000 messages: {:.1} ms", per_op * 1000.0);
    }
    let receiver_cpu = receiver_phase.as_ref().and_then(|p| p.per_op(ok));
    if let Some(per_op) = receiver_cpu {
        println!(
            "receivers' node CPU per 1,000 messages: {:.1} ms",
            per_op * 1000.0
        );
    }
    println!(
        "RESULT online pairs={pairs} window={window} msgs={ok} rate={rate:.0} ok_p50_ms={:.2} ok_p99_ms={:.2} reciv_p50_ms={:.2} reciv_p99_ms={:.2} cpu_per_1000_ms={:.1} receiver_node_cpu_per_1000_ms={:.1} errors={} failures={}",
        msg_to_ok.pct(50.0),
        msg_to_ok.pct(99.0),
        reciv.pct(50.0),
        reciv.pct(99.0),
        phase.per_op(ok).map_or(f64::NAN, |c| c * 1000.0),
        receiver_cpu.map_or(f64::NAN, |c| c * 1000.0),
        errors.values().sum::<usize>(),
        failures.len()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// offline

pub(crate) async fn offline(
    ctx: &Ctx,
    messages: usize,
    senders: usize,
    receivers: usize,
    window: usize,
    size: usize,
) -> Result<()> {
    let senders = senders.max(1);
    let receivers = receivers.max(1);
    let keys = load_keys(&ctx.key_cache, senders + receivers)?;
    wait_for_server(ctx.addr).await?;
    let sender_clients = logged_in_clients(ctx, &keys, 0, senders, true).await?;
    // Register the receivers, then disconnect them: they are offline.
    drop(logged_in_clients(ctx, &keys, senders, receivers, false).await?);
    let per = (messages / senders).max(1);
    let total = per * senders;
    println!(
        "offline: {senders} senders → {receivers} offline receivers, window {window}, {total} messages, {size}-byte ciphertexts"
    );
    let targets: Vec<Bytes> = (0..receivers).map(|r| user_name(senders + r)).collect();
    let template = Arc::new(body_template(size));
    let before = ctx.meter.snapshot();
    let start = Instant::now();
    let tasks: Vec<_> = sender_clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            tokio::spawn(run_sender(
                c,
                i,
                targets.clone(),
                per,
                window,
                template.clone(),
            ))
        })
        .collect();
    let mut reports = Vec::new();
    for t in tasks {
        reports.push(t.await.unwrap_or_else(|e| SenderReport {
            failure: Some(format!("sender task: {e}")),
            ..SenderReport::default()
        }));
    }
    let phase = ctx.meter.since(&before);
    phase.print("store");
    let mut ok = 0;
    let mut errors = BTreeMap::new();
    let mut msg_to_ok = Lat::default();
    let mut last_ok = start;
    for (i, r) in reports.iter_mut().enumerate() {
        ok += r.ok;
        merge_errors(&mut errors, &r.errors);
        msg_to_ok.extend(std::mem::take(&mut r.msg_to_ok));
        if let Some(t) = r.last_ok {
            last_ok = last_ok.max(t);
        }
        if let Some(f) = &r.failure {
            println!("failure: sender {i}: {f}");
        }
    }
    let secs = (last_ok - start).as_secs_f64();
    let rate = ok as f64 / secs;
    println!(
        "stored: {ok} OK in {secs:.3} s = {rate:.0} msgs/s; ERR replies: {}",
        describe_map(&errors)
    );
    println!("MSG→OK latency: {}", msg_to_ok.summary());
    if let Some(per_op) = phase.per_op(ok) {
        println!(
            "server CPU per 1,000 stored messages: {:.1} ms",
            per_op * 1000.0
        );
    }
    if let Some(db) = phase.db_cpu_ms {
        println!(
            "database CPU per 1,000 stored messages: {:.1} ms",
            db * 1000.0 / ok.max(1) as f64
        );
    }

    // Catch-up.
    let expected: Vec<usize> = (0..receivers)
        .map(|r| {
            reports
                .iter()
                .map(|s| s.ok_seqs.get(&r).map_or(0, Vec::len))
                .sum()
        })
        .collect();
    let mut clients = Vec::new();
    for r in 0..receivers {
        let mut c = Client::connect(ctx.addr).await?;
        c.login_offloaded(&user_name(senders + r), &keys[senders + r])
            .await?;
        clients.push(c);
    }
    let before = ctx.meter.snapshot();
    let catch_up_start = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .zip(expected.iter().copied())
        .map(|(c, n)| tokio::spawn(run_catch_up(c, n)))
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        match t.await {
            Ok(r) => results.push(r),
            Err(e) => bail!("catch-up task: {e}"),
        }
    }
    let phase = ctx.meter.since(&before);
    phase.print("catch-up");
    let mut check = Check::default();
    let mut slowest = Duration::ZERO;
    for (r, (report, elapsed, second)) in results.iter().enumerate() {
        slowest = slowest.max(*elapsed);
        for (s, sender) in reports.iter().enumerate() {
            let confirmed = sender.ok_seqs.get(&r).cloned().unwrap_or_default();
            let got = report.seqs.get(&(s as u64)).cloned().unwrap_or_default();
            check.add(&confirmed, &got);
        }
        println!(
            "receiver {r}: {} of {} messages in {:.3} s ({:.0} msgs/s); second RECIV: {second}{}",
            report.received,
            expected[r],
            elapsed.as_secs_f64(),
            report.received as f64 / elapsed.as_secs_f64().max(1e-9),
            report
                .failure
                .as_deref()
                .map(|f| format!("; failure: {f}"))
                .unwrap_or_default()
        );
    }
    // Where the catch-up time goes, as seen by the client: time to the first RECIV and the
    // longest pauses between consecutive RECIVs (server-side database round trips).
    for (r, (report, _, _)) in results.iter().enumerate() {
        let Some(arrivals) = &report.arrivals else {
            continue;
        };
        let Some(first) = arrivals.first() else {
            continue;
        };
        let mut gaps: Vec<(Duration, usize)> = arrivals
            .windows(2)
            .enumerate()
            .map(|(i, w)| (w[1] - w[0], i + 1))
            .collect();
        gaps.sort_unstable_by(|a, b| b.cmp(a));
        let top: Vec<String> = gaps
            .iter()
            .take(6)
            .map(|(d, i)| format!("{:.1} ms before #{i}", d.as_secs_f64() * 1000.0))
            .collect();
        let streaming: Duration = gaps.iter().skip(6).map(|(d, _)| *d).sum();
        println!(
            "receiver {r} timeline: first RECIV {:.1} ms after the request; longest pauses: {}; all other gaps together: {:.1} ms",
            (*first - catch_up_start).as_secs_f64() * 1000.0,
            top.join(", "),
            streaming.as_secs_f64() * 1000.0
        );
    }
    println!(
        "order (per sender, send order) and exactly-once: {} {check:?}",
        if check.ok() { "ok" } else { "VIOLATED" }
    );
    if let Some(c) = phase.server_cpu_ms {
        let n: usize = expected.iter().sum();
        println!(
            "server CPU per 1,000 caught-up messages: {:.1} ms",
            c * 1000.0 / n.max(1) as f64
        );
    }
    println!(
        "RESULT offline msgs={ok} rate={rate:.0} catchup_s={:.3} check={} errors={}",
        slowest.as_secs_f64(),
        if check.ok() { "ok" } else { "violated" },
        errors.values().sum::<usize>()
    );
    Ok(())
}
