//! `/api/v1/namespaces/{namespace}/secrets` and `/api/v1/secrets`: Secrets, through the
//! handlers of `objects.rs`; the kind's rules are its strategy's (`api::secrets`).

use k8s_openapi::api::core::v1::Secret;
use serde_json::{json, Value};

use super::objects::Served;
use podspec_api::secrets::SecretStrategy;

impl Served for SecretStrategy {
    fn from_protobuf(body: &[u8]) -> Result<Secret, super::protobuf::ProtobufError> {
        super::protobuf::secret(body)
    }
    /// The v1 conversion: `stringData` into `data`, and the type's default.
    fn decoded(secret: &mut Secret) {
        podspec_api::secrets::fold_string_data(secret);
    }

    /// NAME, TYPE, DATA (how many keys), AGE.
    fn table(objects: &[Value], resource_version: &str, with_columns: bool, include_object: &str) -> Value {
        let count = |o: &Value| json!(o["data"].as_object().map_or(0, |m| m.len()));
        super::table::data_table(objects, true, count, resource_version, with_columns, include_object)
    }
}
