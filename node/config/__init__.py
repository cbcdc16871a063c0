"""The configuration directives: their kinds, defaults, parsing, CONFIG SET and REWRITE.

Every layer above reads directives, so they sit right above the protocol (a config line
is split as an inline command is). May import ``protocol`` and ``base``.
"""
