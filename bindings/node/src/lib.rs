//! Placeholder: filled in by the binding's issue.
