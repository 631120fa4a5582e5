//! Baileys' file format: `JSON.stringify(value, BufferJSON.replacer)` on the
//! way out, `JSON.parse(text, BufferJSON.reviver)` on the way in.

pub mod app_state_key;
pub mod js_buffer_from;
pub mod js_convert;
pub mod js_number;
pub mod js_string;
pub mod node_base64;
pub mod parser;
pub mod revive_error;
pub mod reviver;
pub mod value;
pub mod writer;

pub use js_string::JsString;
pub use parser::{parse_file, ParseError, MAX_DEPTH};
pub use revive_error::ReviveError;
pub use reviver::Flavor;
pub use value::{Object, Value};
pub use writer::{to_json_bytes, write_json};
