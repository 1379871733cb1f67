"""Access control of GB/T 22239 level 3: passwords, login throttling, sessions, the administrators' work.

passwords   the password policy (length, character classes, not the name, not a common password)
throttle    failed logins per account name and per client address, locks and unlocks
sessions    server-side sessions: started at login, ended by logout, disabling, "log out everywhere"
login       logging in and changing one's password, as one function each
checks      the account and session check that starts every request transaction
admin       what the system and security administrators do to accounts through the app
"""
