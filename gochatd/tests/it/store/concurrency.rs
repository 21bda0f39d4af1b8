//! Concurrent writers.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_inserts_from_many_tasks() {
    let (_dir, store, alice) = with_account().await;
    const TASKS: usize = 8;
    const EACH: usize = 40;

    let mut handles = Vec::new();
    for t in 0..TASKS {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut events = Vec::new();
            for i in 0..EACH {
                let peer = format!("peer{}", t % 3);
                let m = store
                    .insert_message(&incoming(alice, &peer, &format!("word{t} n{i}"), i as i64))
                    .await
                    .expect("concurrent insert");
                mine.push(m.id);
                events.push(
                    store
                        .append_event(format!("{t}/{i}").as_bytes())
                        .await
                        .expect("concurrent append"),
                );
                if i % 10 == 0 {
                    store
                        .mark_read(alice, &peer, None)
                        .await
                        .expect("concurrent mark_read");
                    store
                        .upsert_contact(&contact(alice, &peer))
                        .await
                        .expect("concurrent upsert");
                }
            }
            (mine, events)
        }));
    }
    let mut all_ids = HashSet::new();
    let mut all_events = HashSet::new();
    for h in handles {
        let (mine, events) = h.await.expect("task");
        assert!(mine.windows(2).all(|w| w[1] > w[0]), "ids grow per task");
        assert!(
            events.windows(2).all(|w| w[1] > w[0]),
            "event ids grow per task"
        );
        all_ids.extend(mine);
        all_events.extend(events);
    }
    assert_eq!(all_ids.len(), TASKS * EACH);
    assert_eq!(all_events.len(), TASKS * EACH);
    assert_eq!(count(&store, "messages").await, (TASKS * EACH) as i64);
    assert_eq!(
        store.events_after(0, u32::MAX).await.expect("after").len(),
        TASKS * EACH
    );
    for t in 0..TASKS {
        assert_eq!(
            store
                .search(alice, &format!("word{t}"), None, None, 1000)
                .await
                .expect("search")
                .len(),
            EACH
        );
    }
    assert_eq!(store.conversations(alice).await.expect("conv").len(), 3);
    fts_integrity(&store).await;
}
