"""Component ids of the testing page (prefixed `testing-`)."""

TITLE = "testing-title"
DAY = "testing-day"
DISTRICT = "testing-district"
DISTRICT_LABEL = "testing-district-label"
COMMUNITY = "testing-community"
COMMUNITY_LABEL = "testing-community-label"
MESSAGE = "testing-message"
TABS = "testing-tabs"


def kpi(name: str) -> dict:
    return {"type": "testing-kpi", "index": name}


def kpi_label(name: str) -> dict:
    return {"type": "testing-kpi-label", "index": name}


KPIS = ("residents", "tested24", "untested", "passes", "arrivals")

# progress
COMMUNITIES_TITLE = "testing-communities-title"
COMMUNITIES = "testing-communities"
BUILDINGS_TITLE = "testing-buildings-title"
BUILDINGS = "testing-buildings"
MAP = "testing-map"
MAP_SPEC = "testing-map-spec"
MAP_DRAWN = "testing-map-drawn"
LEGEND = "testing-legend"

# batch plan
PLAN_TITLE = "testing-plan-title"
PLAN_START = "testing-plan-start"
PLAN_START_LABEL = "testing-plan-start-label"
PLAN_SLOT = "testing-plan-slot"
PLAN_SLOT_LABEL = "testing-plan-slot-label"
PLAN_BATCHES = "testing-plan-batches"
PLAN_BATCHES_LABEL = "testing-plan-batches-label"
PLAN_PREVIEW = "testing-plan-preview"
PLAN_SAVE = "testing-plan-save"
PLAN_FEEDBACK = "testing-plan-feedback"
PLAN_MESSAGES = "testing-plan-messages"
PLAN_SAVED = "testing-plan-saved"
BATCHES_TITLE = "testing-batches-title"
BATCHES = "testing-batches"
NOTIFY = "testing-notify"
NOTIFY_FEEDBACK = "testing-notify-feedback"

# person lists
PASSES_NOTE = "testing-passes-note"
PASSES = "testing-passes"
SHARED_TITLE = "testing-shared-title"
SHARED = "testing-shared"
PASSES_TITLE = "testing-passes-title"
ARRIVALS_NOTE = "testing-arrivals-note"
HOTELS_TITLE = "testing-hotels-title"
HOTELS = "testing-hotels"
ARRIVALS_TITLE = "testing-arrivals-title"
ARRIVALS = "testing-arrivals"

# sampling sites
SITES_NOTE = "testing-sites-note"
SITES = "testing-sites"
SITES_MAP = "testing-sites-map"
SITES_SPEC = "testing-sites-spec"
SITES_DRAWN = "testing-sites-drawn"
