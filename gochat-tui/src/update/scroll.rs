//! Scrolling the active buffer by rows. The position is kept as the entry at the bottom of
//! the view plus rows of it hidden below, so new messages do not move a scrolled view and a
//! step costs the rows it moves over. Reaching the top asks the daemon for an older page.

use crate::app::{App, BufferKey, History, Scroll};
use crate::msg::{Call, Effect};
use crate::ui::layout::message_view;
use crate::ui::messages::{View, bottom_of};

/// How far above the view (in screens) the next page is fetched.
const PREFETCH_SCREENS: usize = 2;

/// Scrolls up `rows`.
pub fn up(app: &mut App, rows: usize) -> Vec<Effect> {
    let (width, height) = message_view(app);
    let height = usize::from(height.max(1));
    let (scroll, near_top) = {
        let view = View::active(app, width);
        let Some((mut i, mut hidden)) = bottom_of(&view, app.active_buffer().scroll) else {
            return load_older(app);
        };
        hidden += rows;
        loop {
            let h = view.height(i);
            if hidden < h {
                break;
            }
            if i == 0 {
                hidden = h.saturating_sub(1);
                break;
            }
            hidden -= h;
            i -= 1;
        }
        // Keep the view full: the rows from the top of everything down to the bottom of the
        // view must be at least a screen.
        let mut above = view.height(i) - hidden;
        let mut j = i;
        while above < height * (1 + PREFETCH_SCREENS) && j > 0 {
            j -= 1;
            above += view.height(j);
        }
        let near_top = j == 0;
        let scroll = if j == 0 && above < height {
            top_scroll(&view, height)
        } else {
            at(&view, i, hidden)
        };
        (scroll, near_top)
    };
    set_scroll(app, scroll);
    if near_top {
        load_older(app)
    } else {
        Vec::new()
    }
}

/// Scrolls down `rows` (back to following the newest at the end).
pub fn down(app: &mut App, rows: usize) {
    let (width, _) = message_view(app);
    let scroll = {
        let view = View::active(app, width);
        let Some((mut i, mut hidden)) = bottom_of(&view, app.active_buffer().scroll) else {
            return;
        };
        if app.active_buffer().scroll == Scroll::Bottom {
            return;
        }
        let mut rest = rows;
        loop {
            if hidden >= rest {
                hidden -= rest;
                break;
            }
            rest -= hidden;
            if i + 1 >= view.len() {
                hidden = 0;
                break;
            }
            i += 1;
            hidden = view.height(i);
        }
        at(&view, i, hidden)
    };
    set_scroll(app, scroll);
}

/// A page up (a screen less two rows of overlap).
pub fn page_up(app: &mut App) -> Vec<Effect> {
    let rows = usize::from(message_view(app).1).saturating_sub(2).max(1);
    up(app, rows)
}

/// A page down.
pub fn page_down(app: &mut App) {
    let rows = usize::from(message_view(app).1).saturating_sub(2).max(1);
    down(app, rows);
}

/// To the oldest loaded entry (and ask for more).
pub fn top(app: &mut App) -> Vec<Effect> {
    let (width, height) = message_view(app);
    let scroll = top_scroll(&View::active(app, width), usize::from(height.max(1)));
    set_scroll(app, scroll);
    load_older(app)
}

/// Back to the newest entry.
pub fn bottom(app: &mut App) {
    set_scroll(app, Scroll::Bottom);
}

fn top_scroll(view: &View<'_>, height: usize) -> Scroll {
    let mut sum = 0;
    for i in 0..view.len() {
        sum += view.height(i);
        if sum >= height {
            return at(view, i, sum - height);
        }
    }
    Scroll::Bottom
}

fn at(view: &View<'_>, i: usize, hidden: usize) -> Scroll {
    if i + 1 >= view.len() && hidden == 0 {
        return Scroll::Bottom;
    }
    Scroll::At {
        key: view_key(view, i),
        hidden: u16::try_from(hidden).unwrap_or(u16::MAX),
    }
}

fn view_key(view: &View<'_>, i: usize) -> crate::app::EntryKey {
    view.key_at(i)
}

fn set_scroll(app: &mut App, scroll: Scroll) {
    let key = app.active.clone();
    if let Some(buffer) = app.buffer_mut(&key) {
        buffer.scroll = scroll;
    }
}

/// Asks for the page before the oldest loaded message of the active conversation, if there
/// is one and none is on its way.
pub fn load_older(app: &mut App) -> Vec<Effect> {
    let BufferKey::Conv(account, peer) = app.active.clone() else {
        return Vec::new();
    };
    let limit = app.ui.history_page;
    let Some(conv) = app.conversation_mut(&account, &peer) else {
        return Vec::new();
    };
    let before = match conv.history {
        History::Loaded { next_before } if next_before > 0 => next_before,
        _ => return Vec::new(),
    };
    conv.history = History::Loading;
    vec![Effect::Call(Call::History {
        account,
        peer,
        before,
        limit,
    })]
}
