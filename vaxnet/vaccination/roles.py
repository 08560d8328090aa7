"""Which staff roles do which step of the facility day (the scope is checked in core.access)."""

from vaxnet.facilities.models import Role

ADMINS = (Role.DISTRICT_ADMIN, Role.STATE_ADMIN, Role.NATIONAL_ADMIN)
# Verifiers check people in and register walk-ins; vaccinators and managers may stand in.
CHECKERS = (Role.VERIFIER, Role.VACCINATOR, Role.FACILITY_MANAGER)
# Vaccinators record doses and doses not given; a facility manager may stand in.
RECORDERS = (Role.VACCINATOR, Role.FACILITY_MANAGER)
# Everyone at the facility sees its day: today's sessions and the queue.
FACILITY_STAFF = (Role.VERIFIER, Role.VACCINATOR, Role.FACILITY_MANAGER, *ADMINS)
# Health workers report adverse events.
AEFI_REPORTERS = (Role.VERIFIER, Role.VACCINATOR, Role.FACILITY_MANAGER, *ADMINS)
# Administrators follow adverse events up.
AEFI_FOLLOWERS = ADMINS
# Facility managers close their sessions; administrators may for a facility of their region.
CLOSERS = (Role.FACILITY_MANAGER, *ADMINS)
# Marking a record entered in error, and recording the right one.
CORRECTORS = (Role.FACILITY_MANAGER, *ADMINS)
# Merging duplicate registrations is for district administrators and above.
MERGERS = ADMINS
