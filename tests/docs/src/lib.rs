//! No code: the test is tests/blocks.rs, over the blocks build.rs extracts.
