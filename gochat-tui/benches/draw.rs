//! Draw time of the main screen with 500 conversations and a 10,000-message scrollback
//! (target: p99 ≤ 4 ms per frame), plus the cost of applying a received message.
//!
//! Criterion reports the mean; the percentiles are measured by hand afterwards (criterion
//! does not report them) over a few thousand frames per scenario.
//!
//! `CARGO_TARGET_DIR=/work/target-bench cargo bench -p gochat-tui --bench draw`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gochat_proto::ipc::{
    Account, AccountRef, Conversation, ConversationList, Event, LinkState, Message, MessageList,
    MessageState, ServerProfile, StatusReply, User, event,
};
use gochat_tui::app::{AccountKey, App};
use gochat_tui::config::Config;
use gochat_tui::msg::{DaemonMsg, Msg, Reply, Snapshot};
use gochat_tui::update::update;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const CONVERSATIONS: usize = 500;
const SCROLLBACK: i64 = 10_000;
const START: i64 = 1_795_000_000;

fn aref() -> AccountRef {
    AccountRef {
        server: "local".into(),
        username: "alice".into(),
    }
}

fn message(id: i64, peer: &str, text: String) -> Message {
    Message {
        id,
        account: Some(aref()),
        peer: peer.into(),
        outgoing: id % 3 == 0,
        text,
        stamp: START + id * 97,
        state: if id % 3 == 0 {
            MessageState::Sent
        } else {
            MessageState::Received
        } as i32,
        error: String::new(),
        read: true,
        local_time: (START + id * 97) * 1000,
        ..Default::default()
    }
}

fn text(i: i64) -> String {
    let words = [
        "the", "train", "leaves", "from", "platform", "seven", "at", "ten", "o'clock", "bring",
        "tickets", "and", "coffee", "please", "see", "you", "there", "tomorrow",
    ];
    let n = 3 + (i * 7 % 40) as usize;
    (0..n)
        .map(|k| words[(i as usize + k * 5) % words.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Alice with 500 conversations; the active one (with "peer000") has 10,000 messages loaded.
fn big_app(width: u16, height: u16) -> App {
    let mut app = App::new(
        &Config::default(),
        jiff::tz::TimeZone::UTC,
        (width, height),
        (START + SCROLLBACK * 97) * 1000,
    );
    let peers: Vec<String> = (0..CONVERSATIONS).map(|i| format!("peer{i:03}")).collect();
    let conversations = peers
        .iter()
        .enumerate()
        .map(|(i, p)| Conversation {
            peer: p.clone(),
            last: Some(message(SCROLLBACK + 1000 - i as i64, p, "last".into())),
            unread: (i % 7) as u32,
        })
        .collect();
    let snapshot = Snapshot {
        status: StatusReply {
            daemon_version: "bench".into(),
            protocol_version: 1,
            instance_id: "bench".into(),
            last_event_id: 1,
            links: Vec::new(),
            pid: 1,
        },
        servers: vec![ServerProfile {
            name: "local".into(),
            host: "127.0.0.1".into(),
            port: 9037,
            is_default: true,
            ..Default::default()
        }],
        accounts: vec![Account {
            r#ref: Some(aref()),
            state: LinkState::Online as i32,
            permission: 1,
            auto_login: true,
            ..Default::default()
        }],
        conversations: vec![(
            AccountKey::from_ref(&aref()),
            ConversationList { conversations },
        )],
        contacts: Vec::new(),
    };
    update(
        &mut app,
        Msg::Daemon(DaemonMsg::Attached(Box::new(snapshot))),
    );
    let account = AccountKey::from_ref(&aref());
    let messages: Vec<Message> = (1..=SCROLLBACK)
        .rev()
        .map(|i| message(i, "peer000", text(i)))
        .collect();
    let reply = |r: Reply| Msg::Daemon(DaemonMsg::Reply(Box::new(r)));
    update(
        &mut app,
        reply(Reply::History {
            account: account.clone(),
            peer: "peer000".into(),
            before: 0,
            result: Ok(MessageList {
                messages,
                next_before: 0,
            }),
        }),
    );
    update(
        &mut app,
        reply(Reply::Users {
            account,
            online_only: true,
            print: false,
            result: Ok((0..200)
                .map(|i| User {
                    name: format!("user{i:03}"),
                    has_permission: true,
                    permission: (i % 3) as u32,
                })
                .collect()),
        }),
    );
    assert_eq!(
        app.active,
        gochat_tui::app::BufferKey::Conv(AccountKey::from_ref(&aref()), "peer000".into()),
        "the big conversation is open"
    );
    app
}

fn page_up(app: &mut App, times: usize) {
    for _ in 0..times {
        update(
            app,
            Msg::Key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE)),
        );
    }
}

struct Scenario {
    name: &'static str,
    app: App,
    terminal: Terminal<TestBackend>,
}

fn scenarios() -> Vec<Scenario> {
    let mut out = Vec::new();
    for (name, w, h, pages) in [
        ("80x24 newest", 80, 24, 0),
        ("120x40 newest", 120, 40, 0),
        ("120x40 scrolled 300 pages", 120, 40, 300),
        ("200x60 newest", 200, 60, 0),
    ] {
        let mut app = big_app(w, h);
        page_up(&mut app, pages);
        out.push(Scenario {
            name,
            app,
            terminal: Terminal::new(TestBackend::new(w, h)).expect("terminal"),
        });
    }
    out
}

fn draw(s: &mut Scenario) {
    s.terminal
        .draw(|f| gochat_tui::ui::draw(f, black_box(&s.app)))
        .expect("draw");
}

fn bench_draw(c: &mut Criterion) {
    let mut group = c.benchmark_group("draw");
    for mut s in scenarios() {
        group.bench_function(s.name, |b| b.iter(|| draw(&mut s)));
    }
    group.finish();
}

fn bench_parts(c: &mut Criterion) {
    let app = big_app(120, 40);
    c.bench_function("parts/sidebar rows (500 conversations)", |b| {
        b.iter(|| black_box(&app).rows().len())
    });
    c.bench_function("parts/unread elsewhere", |b| {
        b.iter(|| black_box(&app).unread_elsewhere())
    });
    c.bench_function("parts/visible message lines 120x40", |b| {
        b.iter(|| {
            let view = gochat_tui::ui::messages::View::active(black_box(&app), 116);
            gochat_tui::ui::messages::visible_lines(&view, 36).len()
        })
    });
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    c.bench_function("parts/empty frame 120x40", |b| {
        b.iter(|| {
            terminal
                .draw(|f| f.render_widget(ratatui::widgets::Paragraph::new("x"), f.area()))
                .map(|_| ())
        })
    });
}

fn bench_update(c: &mut Criterion) {
    let mut app = big_app(120, 40);
    let mut id = SCROLLBACK * 2;
    c.bench_function("update/message received in the open conversation", |b| {
        b.iter(|| {
            id += 1;
            let event = Event {
                id: id as u64,
                time: 0,
                instance_id: "bench".into(),
                kind: Some(event::Kind::MessageReceived(message(
                    id,
                    "peer000",
                    "new".into(),
                ))),
            };
            update(&mut app, Msg::Daemon(DaemonMsg::Event(Box::new(event))))
        })
    });
    let mut app = big_app(120, 40);
    c.bench_function("update/page up in 10,000 messages", |b| {
        b.iter(|| {
            update(
                &mut app,
                Msg::Key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE)),
            );
            update(
                &mut app,
                Msg::Key(KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE)),
            );
        })
    });
}

fn benches() {
    let mut c = Criterion::default().configure_from_args();
    bench_draw(&mut c);
    bench_parts(&mut c);
    bench_update(&mut c);
}

/// p50 / p99 / max of single frames, as the target is stated.
fn percentiles() {
    const FRAMES: usize = 3000;
    println!("\nper-frame percentiles ({FRAMES} frames each):");
    for mut s in scenarios() {
        for _ in 0..100 {
            draw(&mut s);
        }
        let mut times: Vec<Duration> = (0..FRAMES)
            .map(|i| {
                // Change the input so every frame has something to diff and write.
                s.app
                    .input
                    .set(if i % 2 == 0 { "typing" } else { "typing." });
                let t = Instant::now();
                draw(&mut s);
                t.elapsed()
            })
            .collect();
        times.sort();
        let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
        println!(
            "  {:<28} p50 {:>8.1} µs   p99 {:>8.1} µs   max {:>8.1} µs",
            s.name,
            at(0.50).as_secs_f64() * 1e6,
            at(0.99).as_secs_f64() * 1e6,
            times[times.len() - 1].as_secs_f64() * 1e6
        );
    }
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo test --benches` runs this binary with `--bench` absent; keep that quick.
    if std::env::args().any(|a| a == "--bench") {
        percentiles();
    }
}
