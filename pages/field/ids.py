"""Component ids of the field page (prefixed `field-`)."""

TITLE = "field-title"
WHO = "field-who"
MESSAGE = "field-message"
ROLL_TITLE = "field-roll-title"
ROLL_STATE = "field-roll-state"
PRESENT = "field-present"
PRESENT_AT = "field-present-at"  # {n, lon, lat} from the phone's position
ABSENT = "field-absent"
REASON = "field-reason"
UNIT_TITLE = "field-unit-title"
UNIT = "field-unit"
TASKS_TITLE = "field-tasks-title"
TASKS = "field-tasks"
DONE = "field-done"  # bumped after an action: the page redraws
TICK = "field-tick"
