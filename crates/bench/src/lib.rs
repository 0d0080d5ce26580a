//! Nothing here: this package exists for its bench, `benches/table.rs`
//! (`cargo bench -p gatehouse-bench`), which keeps casbin-rs out of every other build.
