use serde::{Deserialize, Serialize};

/// The largest page a client may ask for; authentik's default paginator allows the same.
pub const MAX_PAGE_SIZE: u64 = 1000;
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// Page number and size, already validated (page >= 1, 1 <= size <= MAX_PAGE_SIZE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    pub page: u64,
    pub page_size: u64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl PageRequest {
    /// Rows to skip. Saturates instead of overflowing, and stays within what a database's
    /// signed 64-bit OFFSET accepts: page 10^18 is simply past the end, not an error.
    pub fn offset(&self) -> u64 {
        self.page
            .saturating_sub(1)
            .saturating_mul(self.page_size)
            .min(i64::MAX as u64)
    }
}

/// A list request: which page, an optional free-text search and an optional ordering field
/// (`name` or `-name` for descending). The services validate `ordering` against each model's
/// sortable fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    pub page: PageRequest,
    pub search: Option<String>,
    pub ordering: Option<String>,
}

/// One page of results and the total number of matching objects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub count: u64,
    pub request: PageRequest,
}

impl<T> Page<T> {
    /// No results (a caller allowed to list but with nothing to see).
    pub fn empty(request: PageRequest) -> Self {
        Self {
            items: Vec::new(),
            count: 0,
            request,
        }
    }

    pub fn total_pages(&self) -> u64 {
        self.count.div_ceil(self.request.page_size).max(1)
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            count: self.count,
            request: self.request,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_page_numbers_do_not_overflow_the_offset() {
        let request = PageRequest {
            page: u64::MAX,
            page_size: MAX_PAGE_SIZE,
        };
        assert_eq!(request.offset(), i64::MAX as u64);
        assert_eq!(PageRequest::default().offset(), 0);
        let third = PageRequest {
            page: 3,
            page_size: 20,
        };
        assert_eq!(third.offset(), 40);
    }
}
