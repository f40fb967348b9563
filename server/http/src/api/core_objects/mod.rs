pub mod groups;
pub mod tokens;
pub mod users;
