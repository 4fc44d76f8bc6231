package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ReadFiles reads the rule files at path as Load does, without parsing them:
// the file itself, or every *.yaml and *.yml file directly in a directory
// (not recursive; names starting with "." and non-regular files are skipped),
// in order of name. A directory without rule files gives an ErrorList;
// failing to read gives an error wrapping the *fs.PathError. Tools use it to
// check the files of a set in other ways too (`rules check` validates each
// against the JSON Schema).
func ReadFiles(path string) ([]File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot load rules: %w", err)
	}
	if !fi.IsDir() {
		data, err := readFile(path)
		if err != nil {
			return nil, err
		}
		return []File{{Name: path, Data: data}}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("cannot load rules: %w", err)
	}
	var files []File
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if ext := filepath.Ext(name); ext != ".yaml" && ext != ".yml" {
			continue
		}
		full := filepath.Join(path, name)
		st, err := os.Stat(full) // follows symlinks
		if err != nil {
			return nil, fmt.Errorf("cannot load rules: %w", err)
		}
		if !st.Mode().IsRegular() {
			continue
		}
		data, err := readFile(full)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: full, Data: data})
	}
	if len(files) == 0 {
		return nil, ErrorList{{File: path, Msg: "cannot find rule files (*.yaml, *.yml) in directory"}}
	}
	return files, nil
}
