"""The bottom layer: what every other layer may use and which imports nothing of the node.

Redis's error texts (``errors``: every reply text in one module), glob matching, random
key sampling, and the forked children that write the dataset. Imports only the standard
library.
"""
