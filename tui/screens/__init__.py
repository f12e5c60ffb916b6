"""The dashboard's screens: runs, run detail, launch form, compare, dialogs and help."""
