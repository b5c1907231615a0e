// vigil: the umbrella package. Its API is built in the following commits.
export {};
