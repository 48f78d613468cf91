//! The `alerts` tree: alerts as JSON under their id (big-endian), read and changed by every
//! stage (detection grows them, intel and analysts add to them).

use super::{Store, StoreError};
use crate::domain::Alert;

/// Every stored alert, oldest first.
pub fn stored_alerts(store: &Store) -> Result<Vec<Alert>, StoreError> {
    store
        .alerts
        .iter()
        .map(|item| {
            let (_, v) = item?;
            serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                tree: "alerts",
                detail: e.to_string(),
            })
        })
        .collect()
}

/// One stored alert by id (a keyed lookup, not a scan).
pub fn stored_alert(store: &Store, id: u64) -> Result<Option<Alert>, StoreError> {
    store
        .alerts
        .get(id.to_be_bytes())?
        .map(|v| {
            serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                tree: "alerts",
                detail: e.to_string(),
            })
        })
        .transpose()
}

/// Replace one stored alert (status changes from the CLI).
pub fn save_alert(store: &Store, alert: &Alert) -> Result<(), StoreError> {
    let json = serde_json::to_vec(alert).map_err(|e| StoreError::Corrupt {
        tree: "alerts",
        detail: e.to_string(),
    })?;
    store.alerts.insert(alert.alert_id.to_be_bytes(), json)?;
    Ok(())
}

/// Change one stored alert atomically (sled compare-and-swap): analyst status and intel are
/// written by other stages than detection while it keeps growing the same alert, so each
/// writer changes only its own fields of the current stored value. Returns the new alert.
pub fn update_alert(
    store: &Store,
    id: u64,
    mut change: impl FnMut(&mut Alert),
) -> Result<Option<Alert>, StoreError> {
    let mut decode_error = None;
    let out = store.alerts.update_and_fetch(id.to_be_bytes(), |old| {
        let old = old?;
        match serde_json::from_slice::<Alert>(old) {
            Ok(mut a) => {
                change(&mut a);
                serde_json::to_vec(&a).ok()
            }
            Err(e) => {
                decode_error = Some(e.to_string());
                Some(old.to_vec())
            }
        }
    })?;
    if let Some(detail) = decode_error {
        return Err(StoreError::Corrupt {
            tree: "alerts",
            detail,
        });
    }
    out.map(|v| {
        serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
            tree: "alerts",
            detail: e.to_string(),
        })
    })
    .transpose()
}
