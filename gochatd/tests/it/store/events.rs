//! The event log.

use super::*;

#[tokio::test]
async fn event_log_ids_survive_pruning() {
    let (_dir, store) = fresh().await;
    assert_eq!(store.last_event_id().await.expect("last"), 0);
    assert_eq!(store.first_event_id().await.expect("first"), None);
    assert!(store.events_after(0, 10).await.expect("after").is_empty());
    store.prune_events(0).await.expect("prune empty");

    let mut ids = Vec::new();
    for i in 0u8..10 {
        ids.push(store.append_event(&[i, 0xff]).await.expect("append"));
    }
    assert!(ids.windows(2).all(|w| w[1] > w[0]), "{ids:?}");
    assert!(ids[0] >= 1);
    assert_eq!(store.first_event_id().await.expect("first"), Some(ids[0]));
    assert_eq!(store.last_event_id().await.expect("last"), ids[9]);

    let all = store.events_after(0, 100).await.expect("after");
    assert_eq!(all.len(), 10);
    assert_eq!(all[3], (ids[3], vec![3, 0xff]));
    let page = store.events_after(ids[4], 3).await.expect("after");
    assert_eq!(
        page.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        ids[5..8].to_vec()
    );
    assert!(
        store
            .events_after(ids[9], 10)
            .await
            .expect("after")
            .is_empty()
    );
    assert!(
        store
            .events_after(u64::MAX, 10)
            .await
            .expect("after")
            .is_empty()
    );
    assert!(store.events_after(0, 0).await.expect("after").is_empty());

    store.prune_events(100).await.expect("prune nothing");
    assert_eq!(store.first_event_id().await.expect("first"), Some(ids[0]));
    store.prune_events(4).await.expect("prune");
    assert_eq!(store.first_event_id().await.expect("first"), Some(ids[6]));
    assert_eq!(
        store
            .events_after(0, 100)
            .await
            .expect("after")
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>(),
        ids[6..].to_vec()
    );
    store.prune_events(u64::MAX).await.expect("prune huge keep");
    assert_eq!(count(&store, "events").await, 4);

    // Prune everything: ids are still never reused.
    store.prune_events(0).await.expect("prune all");
    assert_eq!(store.first_event_id().await.expect("first"), None);
    assert_eq!(store.last_event_id().await.expect("last"), ids[9]);
    let next = store.append_event(b"after prune").await.expect("append");
    assert!(next > ids[9]);
    assert_eq!(store.last_event_id().await.expect("last"), next);
    assert_eq!(store.first_event_id().await.expect("first"), Some(next));
    // Empty payloads round-trip too.
    let empty = store.append_event(&[]).await.expect("append");
    assert_eq!(
        store.events_after(next, 10).await.expect("after"),
        vec![(empty, Vec::new())]
    );
}
