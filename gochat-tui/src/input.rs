//! The input line: a small multi-line editor (cursor, words, paste) with a history of what
//! was entered, and its layout into screen rows. Pure data; no terminal here.

use unicode_width::UnicodeWidthChar;

/// Most bytes the input holds (the daemon splits long messages; this only bounds a paste).
pub const MAX_INPUT: usize = 64 * 1024;
/// Most history entries kept.
const MAX_HISTORY: usize = 500;

/// The editor state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    /// The text (may contain `\n`).
    pub text: String,
    /// Cursor, as a byte offset on a char boundary.
    pub cursor: usize,
    history: Vec<String>,
    /// Position while browsing the history (None: editing a new line).
    browsing: Option<usize>,
    /// What was being typed before browsing started.
    stash: String,
}

impl Input {
    /// Whether nothing is typed.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Replaces the text, cursor at the end.
    pub fn set(&mut self, text: &str) {
        self.text = text.to_owned();
        self.cursor = self.text.len();
    }

    /// Inserts a character at the cursor.
    pub fn insert(&mut self, c: char) {
        if self.text.len() + c.len_utf8() > MAX_INPUT {
            return;
        }
        self.text.insert(self.cursor, c);
        self.cursor += c.len_utf8();
    }

    /// Inserts pasted text (line endings normalised, control characters dropped, tabs as
    /// spaces). Returns false if it was cut to fit.
    pub fn paste(&mut self, text: &str) -> bool {
        let clean: String = text
            .replace("\r\n", "\n")
            .replace('\r', "\n")
            .chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .filter(|c| *c == '\n' || !c.is_control())
            .collect();
        let room = MAX_INPUT.saturating_sub(self.text.len());
        let mut cut = clean.len().min(room);
        while !clean.is_char_boundary(cut) {
            cut -= 1;
        }
        self.text.insert_str(self.cursor, &clean[..cut]);
        self.cursor += cut;
        cut == clean.len()
    }

    fn prev_boundary(&self, from: usize) -> usize {
        self.text[..from]
            .char_indices()
            .next_back()
            .map_or(0, |(i, _)| i)
    }

    fn next_boundary(&self, from: usize) -> usize {
        self.text[from..]
            .chars()
            .next()
            .map_or(from, |c| from + c.len_utf8())
    }

    /// Deletes the character before the cursor.
    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            let start = self.prev_boundary(self.cursor);
            self.text.replace_range(start..self.cursor, "");
            self.cursor = start;
        }
    }

    /// Deletes the character under the cursor.
    pub fn delete(&mut self) {
        if self.cursor < self.text.len() {
            let end = self.next_boundary(self.cursor);
            self.text.replace_range(self.cursor..end, "");
        }
    }

    /// Moves left one character.
    pub fn left(&mut self) {
        self.cursor = self.prev_boundary(self.cursor);
    }

    /// Moves right one character.
    pub fn right(&mut self) {
        self.cursor = self.next_boundary(self.cursor);
    }

    fn word_start(&self) -> usize {
        let before = &self.text[..self.cursor];
        let trimmed = before.trim_end_matches(|c: char| c.is_whitespace());
        trimmed
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8())
    }

    /// Moves to the start of the previous word.
    pub fn word_left(&mut self) {
        self.cursor = self.word_start();
    }

    /// Moves past the end of the next word.
    pub fn word_right(&mut self) {
        let after = &self.text[self.cursor..];
        let skip_space = after.len() - after.trim_start().len();
        let rest = &after[skip_space..];
        let word = rest.find(char::is_whitespace).unwrap_or(rest.len());
        self.cursor += skip_space + word;
    }

    /// Deletes the word before the cursor.
    pub fn delete_word(&mut self) {
        let start = self.word_start();
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    /// Deletes from the start of the line to the cursor.
    pub fn delete_to_line_start(&mut self) {
        let start = self.line_start();
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    /// Deletes from the cursor to the end of the line.
    pub fn delete_to_line_end(&mut self) {
        let end = self.line_end();
        self.text.replace_range(self.cursor..end, "");
    }

    fn line_start(&self) -> usize {
        self.text[..self.cursor].rfind('\n').map_or(0, |i| i + 1)
    }

    fn line_end(&self) -> usize {
        self.text[self.cursor..]
            .find('\n')
            .map_or(self.text.len(), |i| self.cursor + i)
    }

    /// Moves to the start of the line.
    pub fn home(&mut self) {
        self.cursor = self.line_start();
    }

    /// Moves to the end of the line.
    pub fn end(&mut self) {
        self.cursor = self.line_end();
    }

    /// Whether the cursor is on the first line.
    pub fn on_first_line(&self) -> bool {
        !self.text[..self.cursor].contains('\n')
    }

    /// Whether the cursor is on the last line.
    pub fn on_last_line(&self) -> bool {
        !self.text[self.cursor..].contains('\n')
    }

    /// Moves up a line (keeping the column when it can).
    pub fn up(&mut self) {
        let start = self.line_start();
        if start == 0 {
            return;
        }
        let column = self.text[start..self.cursor].chars().count();
        let prev_start = self.text[..start - 1].rfind('\n').map_or(0, |i| i + 1);
        self.cursor = advance(&self.text, prev_start, start - 1, column);
    }

    /// Moves down a line (keeping the column when it can).
    pub fn down(&mut self) {
        let end = self.line_end();
        if end == self.text.len() {
            return;
        }
        let column = self.text[self.line_start()..self.cursor].chars().count();
        let next_start = end + 1;
        let next_end = self.text[next_start..]
            .find('\n')
            .map_or(self.text.len(), |i| next_start + i);
        self.cursor = advance(&self.text, next_start, next_end, column);
    }

    /// Whether the history is being browsed.
    pub fn browsing(&self) -> bool {
        self.browsing.is_some()
    }

    /// Shows the previous history entry.
    pub fn history_prev(&mut self) {
        if self.history.is_empty() {
            return;
        }
        let pos = match self.browsing {
            None => {
                self.stash = std::mem::take(&mut self.text);
                self.history.len() - 1
            }
            Some(0) => 0,
            Some(p) => p - 1,
        };
        self.browsing = Some(pos);
        let entry = self.history[pos].clone();
        self.set(&entry);
    }

    /// Shows the next history entry (or what was typed before browsing).
    pub fn history_next(&mut self) {
        match self.browsing {
            None => {}
            Some(p) if p + 1 < self.history.len() => {
                self.browsing = Some(p + 1);
                let entry = self.history[p + 1].clone();
                self.set(&entry);
            }
            Some(_) => {
                self.browsing = None;
                let stash = std::mem::take(&mut self.stash);
                self.set(&stash);
            }
        }
    }

    /// Clears the text and stops browsing.
    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
        self.browsing = None;
        self.stash.clear();
    }

    /// Takes the text out (entered), adding it to the history.
    pub fn take(&mut self) -> String {
        let text = std::mem::take(&mut self.text);
        self.clear();
        if !text.trim().is_empty() && self.history.last() != Some(&text) {
            self.history.push(text.clone());
            if self.history.len() > MAX_HISTORY {
                self.history.remove(0);
            }
        }
        text
    }

    /// The word being typed (from the last space to the cursor) and where it starts.
    pub fn current_word(&self) -> (usize, &str) {
        let start = self.text[..self.cursor]
            .rfind(char::is_whitespace)
            .map_or(0, |i| i + 1);
        (start, &self.text[start..self.cursor])
    }

    /// Replaces the text from `start` to the cursor.
    pub fn replace_word(&mut self, start: usize, with: &str) {
        self.text.replace_range(start..self.cursor, with);
        self.cursor = start + with.len();
    }

    /// Lays the text out in rows of `width` columns: the rows (as byte ranges) and the
    /// cursor's (row, column).
    pub fn layout(&self, width: u16) -> (Vec<(usize, usize)>, (usize, u16)) {
        let width = width.max(2);
        let mut rows = Vec::new();
        let mut cursor = (0, 0);
        let mut row_start = 0;
        let mut col: u16 = 0;
        for (i, c) in self.text.char_indices() {
            if i == self.cursor {
                cursor = (rows.len(), col);
            }
            if c == '\n' {
                rows.push((row_start, i));
                row_start = i + 1;
                col = 0;
                continue;
            }
            let w = c.width().unwrap_or(0) as u16;
            if col + w > width {
                rows.push((row_start, i));
                row_start = i;
                col = 0;
                if i == self.cursor {
                    cursor = (rows.len(), 0);
                }
            }
            col += w;
        }
        if self.cursor >= self.text.len() {
            if col >= width {
                rows.push((row_start, self.text.len()));
                row_start = self.text.len();
                col = 0;
            }
            cursor = (rows.len(), col);
        }
        rows.push((row_start, self.text.len()));
        (rows, cursor)
    }
}

/// The byte offset `column` characters after `start`, not past `end`.
fn advance(text: &str, start: usize, end: usize, column: usize) -> usize {
    text[start..end]
        .char_indices()
        .nth(column)
        .map_or(end, |(i, _)| start + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(s: &str) -> Input {
        let mut i = Input::default();
        for c in s.chars() {
            i.insert(c);
        }
        i
    }

    #[test]
    fn editing() {
        let mut i = typed("héllo wörld");
        i.backspace();
        assert_eq!(i.text, "héllo wörl");
        i.word_left();
        assert_eq!(&i.text[i.cursor..], "wörl");
        i.delete_word();
        assert_eq!(i.text, "wörl");
        i.home();
        i.delete();
        assert_eq!(i.text, "örl");
        i.end();
        i.left();
        i.insert('x');
        assert_eq!(i.text, "örxl");
    }

    #[test]
    fn multiline_and_history() {
        let mut i = typed("ab");
        i.insert('\n');
        i.paste("cdef\r\nxy\tz\u{1b}");
        assert_eq!(i.text, "ab\ncdef\nxy z");
        i.up();
        assert_eq!(&i.text[i.cursor..], "\nxy z");
        i.up();
        assert_eq!(&i.text[i.cursor..], "\ncdef\nxy z");
        assert!(i.on_first_line());
        i.down();
        i.down();
        assert!(i.on_last_line());
        assert_eq!(i.take(), "ab\ncdef\nxy z");
        i.set("draft");
        i.history_prev();
        assert_eq!(i.text, "ab\ncdef\nxy z");
        i.history_next();
        assert_eq!(i.text, "draft");
    }

    #[test]
    fn layout_wraps_and_places_the_cursor() {
        let i = typed("abcdef");
        let (rows, cursor) = i.layout(4);
        assert_eq!(rows, vec![(0, 4), (4, 6)]);
        assert_eq!(cursor, (1, 2));
        let i = typed("abcd");
        let (rows, cursor) = i.layout(4);
        assert_eq!(rows, vec![(0, 4), (4, 4)]);
        assert_eq!(cursor, (1, 0));
        let mut i = typed("ab\ncd");
        i.home();
        let (rows, cursor) = i.layout(10);
        assert_eq!(rows, vec![(0, 2), (3, 5)]);
        assert_eq!(cursor, (1, 0));
    }
}
