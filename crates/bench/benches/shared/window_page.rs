//! The window's Users page as the benches ask it (issue 9): search "a", active, role member, by
//! name, 50 a page; `count_limit` Some(1000) is what the window asks ("1,000+"), None the CLI.

use gatehouse_core::usecases::members;

pub fn page_query(page: i64, count_limit: Option<i64>) -> members::MemberQuery {
    members::MemberQuery {
        filter: members::MemberFilter {
            search: Some("a".into()),
            status: Some("active".into()),
            role: Some("member".into()),
        },
        sort: members::SortKey::Name,
        descending: false,
        page,
        per_page: 50,
        count_limit,
        after: None,
    }
}
