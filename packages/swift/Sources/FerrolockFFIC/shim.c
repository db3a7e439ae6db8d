// An empty C source: SwiftPM builds a C target (the generated header and
// its module map under include/) only when it has one.
