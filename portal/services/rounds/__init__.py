"""The co-chairs' side of a dialogue's sessions ("rounds"): the agenda, the briefing pack, the
handover list, consent asked again for a new round, and the record of a held session.

Every rule of what may leave the desk about a person in a round lives in
:mod:`portal.services.rounds.round_consent`; the other modules ask it and never decide it.
"""
