//! Linux zero-copy paths: `copy_file_range`, `sendfile` and `splice`, with
//! automatic fallback to the buffered engine.
