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
    pub fn offset(&self) -> u64 {
        (self.page - 1) * self.page_size
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
