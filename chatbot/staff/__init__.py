"""The staff side: the inbox, replying and handing back, feedback insights, purging conversations."""
