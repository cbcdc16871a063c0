"""Access control lists as Redis 7.0 has them (acl.c): users, selectors, checks, log."""
