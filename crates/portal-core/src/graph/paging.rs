//! Following a collection's `@odata.nextLink`: every page, however many there are. A list never
//! stops silently: a next link already followed (a server or proxy looping) or more than
//! [`MAX_PAGES`] pages stop it with [`PagingStopped`], an error the caller shows ("stopped after
//! N pages") instead of a list cut short.

use std::fmt;

/// Pages one list may have: far beyond any tenant (a hundred million items at Graph's page
/// sizes); only a server gone wrong reaches it.
pub const MAX_PAGES: usize = 1_000_000;

/// Why a list stopped before its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The next link was one already followed: the pages would go round for ever.
    Loop,
    /// More than [`MAX_PAGES`] pages.
    TooManyPages,
}

/// A list stopped before its end, after `pages` pages (the items read are not the whole list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PagingStopped {
    pub pages: usize,
    pub reason: StopReason,
}

impl fmt::Display for PagingStopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            StopReason::Loop => write!(
                f,
                "the list stopped after {} pages: Graph gave as the next page one already read, \
                 so the list shown would be incomplete",
                self.pages
            ),
            StopReason::TooManyPages => write!(
                f,
                "the list stopped after {} pages, the most the portal reads for one list, so \
                 the list shown would be incomplete",
                self.pages
            ),
        }
    }
}

/// The pages of one list followed so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Paging {
    pages: usize,
    /// Next links followed (a plain list: lists have few pages).
    followed: Vec<String>,
}

impl Paging {
    pub fn new() -> Paging {
        Paging::default()
    }

    /// Pages read so far.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// A page was read whose `@odata.nextLink` is `next_link`: `Ok(Some(link))` to read it
    /// next, `Ok(None)` at the end of the list, `Err` when the list must stop short.
    pub fn after_page(&mut self, next_link: Option<&str>) -> Result<Option<String>, PagingStopped> {
        self.pages += 1;
        let Some(link) = next_link else {
            return Ok(None);
        };
        let stopped = |reason| PagingStopped {
            pages: self.pages,
            reason,
        };
        if self.followed.iter().any(|l| l == link) {
            return Err(stopped(StopReason::Loop));
        }
        if self.pages >= MAX_PAGES {
            return Err(stopped(StopReason::TooManyPages));
        }
        self.followed.push(link.to_string());
        Ok(Some(link.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_list_is_followed_to_its_end_past_fifty_pages() {
        let mut paging = Paging::new();
        for page in 1..=500 {
            let link = format!("https://graph.microsoft.com/v1.0/users?$skiptoken={page}");
            assert_eq!(paging.after_page(Some(&link)), Ok(Some(link)));
        }
        assert_eq!(paging.after_page(None), Ok(None));
        assert_eq!(paging.pages(), 501);
    }

    #[test]
    fn a_looping_next_link_stops_the_list_visibly() {
        let mut paging = Paging::new();
        assert!(paging.after_page(Some("a")).is_ok());
        assert!(paging.after_page(Some("b")).is_ok());
        let stopped = paging.after_page(Some("a")).unwrap_err();
        assert_eq!(
            stopped,
            PagingStopped {
                pages: 3,
                reason: StopReason::Loop
            }
        );
        assert!(stopped.to_string().contains("stopped after 3 pages"));
    }

    #[test]
    fn past_the_most_pages_a_list_may_have_it_stops_visibly() {
        let mut paging = Paging {
            pages: MAX_PAGES - 2,
            followed: Vec::new(),
        };
        assert!(paging.after_page(Some("x")).is_ok());
        let stopped = paging.after_page(Some("y")).unwrap_err();
        assert_eq!(stopped.reason, StopReason::TooManyPages);
        assert_eq!(stopped.pages, MAX_PAGES);
        assert!(stopped
            .to_string()
            .contains(&format!("stopped after {MAX_PAGES} pages")));
        // The end of the list is never an error, however many pages came before.
        let mut last = Paging {
            pages: MAX_PAGES + 5,
            followed: Vec::new(),
        };
        assert_eq!(last.after_page(None), Ok(None));
    }
}
