//! The API's timestamps: `metav1.Time`, to the millisecond.

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// `t` as the API writes a timestamp (the kubelet writes its status times with it too).
pub fn k8s_time(t: DateTime<Utc>) -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_millisecond(t.timestamp_millis()).unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH))
}
