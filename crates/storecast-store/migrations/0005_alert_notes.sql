-- storecast store, schema 5 (issue 31): an acknowledgement carries a note (what was done
-- about the alert), shown in the alert history.
ALTER TABLE alerts ADD COLUMN acknowledged_note TEXT;
