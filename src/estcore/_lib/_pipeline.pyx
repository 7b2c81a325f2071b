# placeholder, replaced by the pipeline work
from estcore._lib._status cimport check_status, est_status, EST_OK

def _ping():
    check_status(EST_OK, "ping")
    return 0
