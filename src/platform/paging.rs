//! Keyset paging, newest first: a page is the `limit` rows with an id below `before`; one row
//! more is fetched to know whether an older page exists, whose `before` is the last id shown.

/// Where a page starts and how long it is.
#[derive(Debug, Clone, Copy)]
pub struct Keyset {
    pub before: Option<i64>,
    pub limit: i64,
}

impl Keyset {
    pub fn new(before: Option<i64>, limit: i64) -> Keyset {
        Keyset {
            before,
            limit: limit.max(1),
        }
    }

    /// The exclusive upper bound of the ids on this page.
    pub fn upper_bound(&self) -> i64 {
        self.before.unwrap_or(i64::MAX)
    }

    /// How many rows to ask the database for: one more than the page shows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    /// The page's rows and, when older rows exist, the `before` of the next page.
    pub fn split<T>(&self, mut rows: Vec<T>, id: impl Fn(&T) -> i64) -> (Vec<T>, Option<i64>) {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next = if more { rows.last().map(id) } else { None };
        (rows, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_page_with_more_rows_points_at_its_last_id() {
        let page = Keyset::new(None, 3);
        assert_eq!(page.fetch_limit(), 4);
        assert_eq!(
            page.split(vec![9, 8, 7, 6], |id| *id),
            (vec![9, 8, 7], Some(7))
        );
    }

    #[test]
    fn the_last_page_has_no_next() {
        let page = Keyset::new(Some(7), 3);
        assert_eq!(page.upper_bound(), 7);
        assert_eq!(page.split(vec![6, 5], |id| *id), (vec![6, 5], None));
        assert_eq!(page.split(vec![6, 5, 4], |id| *id), (vec![6, 5, 4], None));
    }
}
