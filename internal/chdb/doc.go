// Package chdb runs SQL on chDB, ClickHouse in-process (libchdb.so, loaded
// from CHDB_LIB_PATH by github.com/chdb-io/chdb-go's chdb-purego). It exists
// only in builds with the chdb tag (Available tells): ordinary builds do
// not load the 566 MB library. chDB allows one session per process, so
// Open hands every caller the same session for the same data directory.
package chdb
