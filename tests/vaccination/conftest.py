from .day import asha, batch, booked, citizen, clock, phc_store, today_session

__all__ = ["asha", "batch", "booked", "citizen", "clock", "phc_store", "today_session"]
