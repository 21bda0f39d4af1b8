//! Full-text search.

use super::*;

#[tokio::test]
async fn search_plain_words_filters_and_order() {
    let (_dir, store, alice) = with_account().await;
    let home = store.server("home").await.expect("get").expect("exists");
    let other = store
        .add_account(&account(home.id, "other"))
        .await
        .expect("add");

    let m1 = store
        .insert_message(&incoming(alice, "bob", "Hi there, lunch tomorrow?", 100))
        .await
        .expect("insert");
    let m2 = store
        .insert_message(&outgoing(alice, "bob", "hi! Yes: lunch at noon", 200))
        .await
        .expect("insert");
    let m3 = store
        .insert_message(&incoming(alice, "carol", "say \"hi\" OR (not) to Zoë", 300))
        .await
        .expect("insert");
    let m4 = store
        .insert_message(&incoming(alice, "carol", "unrelated text", 400))
        .await
        .expect("insert");
    store
        .insert_message(&incoming(other.id, "bob", "hi lunch", 500))
        .await
        .expect("insert");

    let find = |q: &'static str| {
        let store = store.clone();
        async move {
            ids(&store
                .search(alice, q, None, None, 100)
                .await
                .unwrap_or_else(|e| panic!("search {q:?} failed: {e}")))
        }
    };

    // Case-insensitive words, newest first, only this account.
    assert_eq!(find("hi").await, vec![m3.id, m2.id, m1.id]);
    assert_eq!(find("HI").await, vec![m3.id, m2.id, m1.id]);
    // Every word must appear (AND), in any order.
    assert_eq!(find("lunch hi").await, vec![m2.id, m1.id]);
    assert_eq!(find("noon lunch").await, vec![m2.id]);
    // Diacritics are folded.
    assert_eq!(find("zoe").await, vec![m3.id]);
    assert_eq!(find("unrelated").await, vec![m4.id]);
    assert!(find("missing").await.is_empty());

    // FTS syntax in the input is just text, never an error.
    assert_eq!(find("\"hi\" OR (").await, vec![m3.id]);
    assert_eq!(find("hi OR").await, vec![m3.id]);
    assert_eq!(find("(not)").await, vec![m3.id]);
    for q in [
        "\"",
        "\"\"",
        "(",
        ")",
        "*",
        "hi*",
        "NEAR(hi lunch)",
        "-hi",
        "^hi",
        "text:hi",
        "a:b:c",
        "'",
        "' OR 1=1 --",
        "AND",
        "NOT",
        "hi AND NOT",
        "{hi}",
        "\\",
        "\u{0}",
        "",
        "   ",
        "!!! ??? ...",
    ] {
        store
            .search(alice, q, None, None, 10)
            .await
            .unwrap_or_else(|e| panic!("search {q:?} failed: {e}"));
    }
    assert_eq!(
        find("hi*").await,
        vec![m3.id, m2.id, m1.id],
        "no prefix syntax"
    );
    assert!(find("").await.is_empty());
    assert!(find("!!! ???").await.is_empty());

    // Filters: peer, since (stamp, inclusive), limit.
    assert_eq!(
        ids(&store
            .search(alice, "hi", Some("bob"), None, 100)
            .await
            .expect("search")),
        vec![m2.id, m1.id]
    );
    assert_eq!(
        ids(&store
            .search(alice, "hi", None, Some(200), 100)
            .await
            .expect("search")),
        vec![m3.id, m2.id]
    );
    assert_eq!(
        ids(&store
            .search(alice, "hi", Some("bob"), Some(150), 100)
            .await
            .expect("search")),
        vec![m2.id]
    );
    assert_eq!(
        ids(&store
            .search(alice, "hi", None, None, 1)
            .await
            .expect("search")),
        vec![m3.id]
    );
    assert!(
        store
            .search(alice, "hi", Some("nobody"), None, 100)
            .await
            .expect("search")
            .is_empty()
    );
    fts_integrity(&store).await;
}
