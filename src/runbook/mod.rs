//! Runbooks: declarative procedures run by one engine under the TUI and headless (issue 4). So far:
//! the strict Jinja-like template language of their `with:` blocks and `when:` conditions.

pub mod template;
