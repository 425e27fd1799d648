"""Scheduling adapters: when schedules fire."""

from infrastructure.scheduling.calculator import CronScheduleCalculator

__all__ = ["CronScheduleCalculator"]
