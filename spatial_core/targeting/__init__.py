# SPDX-License-Identifier: GPL-3.0-or-later
"""Targeting: scoring profiles, street scores, set-ups and walk lists, their evaluation and
fairness."""
