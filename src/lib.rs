//! napi layer (work in progress)
