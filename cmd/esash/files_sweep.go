package main

// RemoveUploadTemps makes configFiles an sshd.UploadSweeper: leftover
// upload temporaries are removed at start and after a failed transfer.
func (c configFiles) RemoveUploadTemps() (int, error) { return c.s.RemoveUploadTemps() }
